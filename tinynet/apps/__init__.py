"""The commands built on tinynet: the CLI, the live demo and reproduce."""
