variable "environment" {
  default = "dev"
}

resource "inferform_data" "a" {
  input = "llm-${var.enviroment}"
}
