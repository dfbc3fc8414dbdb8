variable "env" "dev" {
  type = string
}
