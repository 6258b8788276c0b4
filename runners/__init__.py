"""How scf-local runs containers: Lambda execution environments and Fargate tasks."""
