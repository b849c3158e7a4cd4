"""rulec: compile a reviewed YAML egress policy into AWS Network Firewall rule groups."""

__version__ = "0.1.0"
