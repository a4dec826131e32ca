"""`cosactl update`: re-applying a newer project template as a three-way merge."""
