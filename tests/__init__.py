"""fastga tests."""
