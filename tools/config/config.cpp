// config loader: see tools/config
