variable "env" {
  type    = string
  defualt = "dev"
}
