resource "inferform_data" "a" {
  input = settings.name
}
