"""regwatch: compliance monitoring for online lending platforms."""
