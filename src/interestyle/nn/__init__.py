"""Building blocks with no knowledge of StyleGAN as a whole."""
