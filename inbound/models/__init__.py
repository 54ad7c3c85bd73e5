"""Each part of the inbound flow keeps its models in a module of its own."""
