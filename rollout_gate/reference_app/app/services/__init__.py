"""What the app does, independent of JSON or HTML: each function checks authorization first."""
