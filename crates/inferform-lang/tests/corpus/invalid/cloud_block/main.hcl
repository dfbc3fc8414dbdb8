terraform {
  cloud {
    organization = "acme"
  }
}

resource "inferform_data" "a" {
  input = 1
}
