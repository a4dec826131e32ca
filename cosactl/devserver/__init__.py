"""``cosactl dev``: the supervisor, its fork server, the session broker and the live view."""
