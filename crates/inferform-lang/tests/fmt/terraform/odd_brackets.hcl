locals {
  a = [1,
    2,
  3]
  b = { x = [
    1,
  ] }
  c = merge({
    a = 1
    }, {
    b = 2
  })
  d = [[
    1,
  ]]
  e = ([
    1
  ])
}
