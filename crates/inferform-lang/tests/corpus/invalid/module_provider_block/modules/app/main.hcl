provider "fabric" {
  region = "cn-southwest-2"
}

resource "inferform_data" "this" {
  input = "app"
}
