variable "tags" {
  type    = map(string)
  default = { a = 1, b = true }
}

variable "ports" {
  type    = list(number)
  default = ["80", 443]
}

variable "names" {
  type    = set(string)
  default = ["b", "a", "b"]
}

variable "obj" {
  type = object({
    name = string
    size = optional(number, 2)
    tags = optional(map(string), {})
    subs = optional(list(object({ id = string, on = optional(bool, true) })), [])
  })
  default = { name = "x", subs = [{ id = "s1" }] }
}

variable "tup" {
  type    = tuple([string, number, bool])
  default = [1, "2", "true"]
}

variable "anything" {
  type    = any
  default = { a = [1, 2], b = "x" }
}

variable "nullable" {
  type    = string
  default = null
}

locals {
  m    = { for k, v in var.tags : k => upper(v) }
  s    = [for n in var.names : "${n}!"]
  deep = { x = { y = [{ z = 1 }, { z = 2 }] } }
}
