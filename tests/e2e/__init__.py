"""The product as its users meet it: HTTP (in process and real servers), the CLI, real processes killed."""
