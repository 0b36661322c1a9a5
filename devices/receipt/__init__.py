"""Receipt printers: ESC/POS protocol, driver, interpreter and the virtual printer."""
