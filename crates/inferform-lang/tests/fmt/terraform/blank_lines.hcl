


locals {
  x = 1
  y = 2
}




locals {
  z = 3
}


