inferform {
  backend "lcoal" {}
}

resource "inferform_data" "a" {
  input = "x"
}
