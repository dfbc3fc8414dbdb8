region = "cn-southwest-2"

resource "inferform_data" "a" {}
