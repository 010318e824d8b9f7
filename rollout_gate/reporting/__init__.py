"""Views of one decision: the terminal verdict block, gate.md, and Allure results."""
