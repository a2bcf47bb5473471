"""Knowledge layer: field definitions, business context and known issues of one dataset."""
