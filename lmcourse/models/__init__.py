"""Language models of the course, one file each: n-grams, RNNs, attention, Transformers."""
