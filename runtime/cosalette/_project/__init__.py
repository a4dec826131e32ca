"""Project discovery: a directory laid out by convention becomes one wired App."""
