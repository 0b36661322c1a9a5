"""Document layouts rendered to ESC/POS bytes (receipt printers) and PDF (A4). No Qt."""
