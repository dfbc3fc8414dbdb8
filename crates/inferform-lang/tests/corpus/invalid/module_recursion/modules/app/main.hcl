resource "inferform_data" "this" {
  input = "app"
}

module "again" {
  source = "./"
}
