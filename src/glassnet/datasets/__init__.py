"""Datasets with Keras's return shapes; checked downloads and a cache."""
