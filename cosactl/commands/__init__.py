"""One module per cosactl sub-command; the logic they call lives elsewhere."""
