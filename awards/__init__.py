"""See DESIGN.md section 9: filled by a later issue."""
