"""Reading and writing: micrographs, coordinate files, plots, model and run files."""
