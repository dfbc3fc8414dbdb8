variable "env" {
  type     = string
  nullable = false
  default  = null
}
