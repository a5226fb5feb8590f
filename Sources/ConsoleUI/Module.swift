// ConsoleUI: see STYLE.md for what lives here.
