"""The environment families. Each subpackage is imported only when one of its ids is made."""
