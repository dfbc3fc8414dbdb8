variable "greetings" {
  type = map(string)
  default = {
    en = "Hello, $${name}!"
    fr = "Bonjour, $${name} !"
  }
}

locals {
  t     = "Hello, $${name}!"
  m     = { t = "x=$${x}" }
  l     = ["a$${x}"]
  loop  = "%%{ for i in items }[$${i}]%%{ endfor }"
  names = toset(["b", "a", "b"])
}
