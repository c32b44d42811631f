"""The sandbox: the host that starts it, the warm fork server inside it, and what contains each kernel."""
