zones = "cn-north-4a"
