"""luci-app-dualnat core: port forwarding across two NAT layers on a bypass router."""

__version__ = "0.1.0"
