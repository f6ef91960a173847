"""The Layer/Model engine: variables, layers, functional graphs, Sequential and Model."""
