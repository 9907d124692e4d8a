"""The networks: StyleGAN2 generator, IR-SE encoders, and the model that holds both."""
