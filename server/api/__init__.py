"""HTTP handlers: parse, call the domain, answer JSON."""
