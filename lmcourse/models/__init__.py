"""Language models of the course, one idea per module: n-grams, RNNs, attention, GPT, BERT."""
