"""The method's stages, one module each: validate, set up, run, write, summarise."""
