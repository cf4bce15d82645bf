"""Built-in node types, one module per family; importing the package registers them."""
