"""The ACME CA: the order, the directory and renewal information (ARI), TXT propagation."""
