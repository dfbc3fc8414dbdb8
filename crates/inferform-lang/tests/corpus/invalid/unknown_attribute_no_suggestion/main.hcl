resource "inferform_data" "a" {
  colour = "blue"
}
