"""Goals and their milestones."""
