// MonitorServer: see STYLE.md for what lives here.
