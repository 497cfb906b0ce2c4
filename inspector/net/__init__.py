"""The I/O nucleus: the only package that touches sockets and ssl."""
