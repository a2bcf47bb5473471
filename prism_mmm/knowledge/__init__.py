"""Knowledge layer: field definitions, business context and known issues (DESIGN §6)."""
